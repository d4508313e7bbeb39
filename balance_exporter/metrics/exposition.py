"""Exposition bodies kept up to date account by account.

prometheus_client encodes every sample (there is no hand-written exposition here); what this
module adds is bookkeeping. A body is, family after family, the family's header and then each
account's sample lines. So each account's lines are kept per family, an account is encoded
again only when its state changed (one encoder call for all the accounts that changed), and a
body is the kept pieces joined: a poll costs its own account's lines, not 10,000 accounts'.

The text format and OpenMetrics write the same sample lines for these families and differ in
their headers and ending. Formats whose lines agree on a probe share one store of lines.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import accumulate

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.samples import Sample

from balance_exporter.metrics.collector import account_families, exporter_families
from balance_exporter.metrics.snapshot import AccountState, ExporterState, Snapshot

Encoder = Callable[[Collector], bytes]

BATCH = 500  # accounts encoded per encoder call: few calls, and a bounded heap of samples

UNKNOWN = -1  # hash() never returns -1: the key of lines not encoded yet

# Sample names of a family, by its type: what a name[] filter is matched against.
SAMPLE_SUFFIXES = {"counter": ("_total",), "info": ("_info",)}


class _Listed(Collector):
    def __init__(self, metrics: Sequence[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return iter(self.metrics)

    def describe(self) -> Iterator[Metric]:  # the names a restricted registry looks up
        return iter(self.metrics)


def encode(encoder: Encoder, metrics: Sequence[Metric]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Listed(metrics))
    return encoder(registry)


def _family_blocks(body: bytes) -> list[tuple[bytes, list[bytes]]]:
    """(header, sample lines) per family of an encoded body, in order; "# EOF" is dropped."""
    blocks: list[tuple[bytes, list[bytes]]] = []
    header: list[bytes] = []
    samples: list[bytes] = []
    for line in body.splitlines(keepends=True):
        if line.startswith(b"# HELP "):  # every family here has a help text
            if blocks or header:
                blocks.append((b"".join(header), samples))
            header, samples = [line], []
        elif line.startswith(b"# "):
            if line != b"# EOF\n":
                header.append(line)
        else:
            samples.append(line)
    if header:
        blocks.append((b"".join(header), samples))
    return blocks


def headers_of(encoder: Encoder) -> list[bytes]:
    """Each account family's header lines in this format."""
    template = account_families(())
    blocks = _family_blocks(encode(encoder, template))
    if len(blocks) != len(template):
        raise ValueError("the encoder wrote a family without a help line")
    return [header for header, _ in blocks]


def lines_agree(first: Encoder, second: Encoder) -> bool:
    """Whether two formats write the same sample lines (label escaping included)."""
    probe = GaugeMetricFamily("probe", "probe", labels=["a", "b"])
    probe.add_metric(['quote " backslash \\ newline \n', "é ☃"], 1.5)
    probe.add_metric(["", "x"], float("nan"))
    return [lines for _, lines in _family_blocks(encode(first, [probe]))] == [
        lines for _, lines in _family_blocks(encode(second, [probe]))
    ]


class AccountLines:
    """Every account's encoded sample lines, per family, refreshed where an account changed.

    Each family's lines are kept as one section (every account's lines joined, in the accounts'
    order) and the length of each account's part of it; an account's new lines are spliced in
    when the section is next asked for. So a body is a join of a few sections, a change costs
    its own lines and one copy of the sections it touched, and the lines are held once, not once
    as pieces and again joined. An account whose state changed has its families built again,
    but only the families whose samples differ (by a hash of their labels and values) are
    encoded again: a routine poll changes a handful of its twenty-odd samples.

    Used by one thread at a time (the renderer's): not thread-safe, and needs not be."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.families = len(account_families(()))
        self.order: tuple[str, ...] = ()
        self._sections: list[bytes] = [b""] * self.families
        self._lengths: list[array[int]] = [array("q") for _ in range(self.families)]
        self._offsets: list[array[int] | None] = [None] * self.families
        # A hash of each account's samples per family; UNKNOWN until first encoded.
        self._keys: list[array[int]] = [array("q") for _ in range(self.families)]
        self._pending: list[dict[int, bytes]] = [{} for _ in range(self.families)]
        self._position: dict[str, int] = {}
        self._states: dict[str, AccountState] = {}
        self.encoded = 0  # accounts whose new state was taken in; tests and benchmarks read it
        self.encoded_samples = 0

    def refresh(self, accounts: Sequence[AccountState]) -> None:
        names = tuple(account.name for account in accounts)
        if names != self.order:
            self._reorder(names)
        states = self._states
        changed = [account for account in accounts if states.get(account.name) is not account]
        for start in range(0, len(changed), BATCH):  # bounded: their samples are short-lived
            self._encode(changed[start : start + BATCH])
            if len(changed) > BATCH:  # and so are their lines: spliced in before the next batch
                for family in range(self.families):
                    self.section(family)

    def section(self, family: int) -> bytes:
        """Every account's lines of ``family``, joined; spliced again only after a change."""
        pending = self._pending[family]
        if pending:
            self._splice(family, sorted(pending.items()))
            pending.clear()
        return self._sections[family]

    def _offsets_of(self, family: int) -> array[int]:
        offsets = self._offsets[family]
        if offsets is None:
            offsets = self._offsets[family] = array(
                "q", accumulate(self._lengths[family], initial=0)
            )
        return offsets

    def _splice(self, family: int, fresh: list[tuple[int, bytes]]) -> None:
        old = memoryview(self._sections[family])
        offsets = self._offsets_of(family)
        lengths = self._lengths[family]
        pieces: list[bytes | memoryview] = []
        cursor = 0
        for position, lines in fresh:
            pieces += (old[cursor : offsets[position]], lines)
            cursor = offsets[position + 1]
            lengths[position] = len(lines)
        pieces.append(old[cursor:])
        self._sections[family] = b"".join(pieces)
        self._offsets[family] = None

    def _reorder(self, names: tuple[str, ...]) -> None:
        """Follow added, removed and moved accounts, keeping the lines of those that stay."""
        old = self._position
        self._position = {name: index for index, name in enumerate(names)}
        self._states = {n: s for n, s in self._states.items() if n in self._position}
        for family in range(self.families):
            self.section(family)  # lines waiting to be spliced in go in first
            section = memoryview(self._sections[family])
            offsets = self._offsets_of(family)
            keys = self._keys[family]
            kept = [old.get(name) for name in names]
            self._sections[family] = b"".join(
                section[offsets[i] : offsets[i + 1]] for i in kept if i is not None
            )
            self._lengths[family] = array(
                "q", (0 if i is None else offsets[i + 1] - offsets[i] for i in kept)
            )
            self._keys[family] = array("q", (UNKNOWN if i is None else keys[i] for i in kept))
            self._offsets[family] = None
        self.order = names

    def _encode(self, changed: Sequence[AccountState]) -> None:
        batch = account_families(changed)
        stale: list[tuple[int, list[str], Metric]] = []
        for family, metric in enumerate(batch):
            grouped: dict[str, list[Sample]] = {account.name: [] for account in changed}
            for sample in metric.samples:
                grouped[sample.labels["account"]].append(sample)
            keys = self._keys[family]
            names: list[str] = []
            kept: list[Sample] = []
            for name, samples in grouped.items():
                key = hash(tuple((sample.value, *sample.labels.values()) for sample in samples))
                position = self._position[name]
                if keys[position] != key:
                    keys[position] = key
                    names.append(name)
                    kept.extend(samples)
            if names:
                subset = Metric(metric.name, metric.documentation, metric.type)
                subset.samples = kept
                stale.append((family, names, subset))
        for account in changed:
            self._states[account.name] = account
        self.encoded += len(changed)
        if stale:
            self._write(stale)

    def _write(self, stale: list[tuple[int, list[str], Metric]]) -> None:
        # One encoder call for all of them; a sample line goes to the account it is labelled
        # with (the encoder writes the lines in the order of the samples).
        blocks = _family_blocks(encode(self.encoder, [metric for _, _, metric in stale]))
        if len(blocks) != len(stale):
            raise ValueError("the encoder wrote a family without a help line")
        for (family, names, metric), (_, lines) in zip(stale, blocks, strict=True):
            fresh: dict[str, list[bytes]] = {name: [] for name in names}
            for sample, line in zip(metric.samples, lines, strict=True):
                fresh[sample.labels["account"]].append(line)
            pending = self._pending[family]
            for name, account_lines in fresh.items():
                pending[self._position[name]] = b"".join(account_lines)
            self.encoded_samples += len(metric.samples)


class Format:
    """One exposition format: its encoder and headers, and the account lines it uses."""

    def __init__(self, encoder: Encoder, lines: AccountLines) -> None:
        self.encoder = encoder
        self.lines = lines
        self.headers = headers_of(encoder)
        self.sample_names = [
            {template.name + suffix for suffix in SAMPLE_SUFFIXES.get(template.type, ("",))}
            for template in account_families(())
        ]

    def chunks(
        self,
        snapshot: Snapshot,
        names: Iterable[str] | None = None,
        live: Sequence[Metric] = (),
    ) -> tuple[bytes, ...]:
        """The body of ``snapshot`` (its lines refreshed already) in pieces, each family's
        header and its section, shared with the other formats rather than copied into one
        bytes; or only the families a ``name[]`` filter selects, as prometheus_client's
        restricted registry would. The last piece is the tail (see ``tail``)."""
        wanted = None if names is None else set(names)
        pieces: list[bytes] = []
        for family, header in enumerate(self.headers):
            section = self.lines.section(family)
            if wanted is not None and not (self.sample_names[family] & wanted and section):
                continue
            pieces += (header, section)
        pieces.append(self.tail(snapshot.exporter, live, wanted))
        return tuple(pieces)

    def tail(
        self,
        exporter: ExporterState,
        live: Sequence[Metric] = (),
        names: Iterable[str] | None = None,
    ) -> bytes:
        """The exporter's own families, then the ``live`` ones (the process's figures, which
        change all the time), and the format's end: the one piece of a body that is rendered
        again without the accounts."""
        registry = CollectorRegistry(auto_describe=False)
        # Described, so that a restricted registry finds every one of them by name.
        registry.register(_Listed([*exporter_families(exporter), *live]))
        return self.encoder(registry if names is None else registry.restricted_registry(names))

    def body(
        self,
        snapshot: Snapshot,
        names: Iterable[str] | None = None,
        live: Sequence[Metric] = (),
    ) -> bytes:
        return b"".join(self.chunks(snapshot, names, live))
