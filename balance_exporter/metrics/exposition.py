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

from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from balance_exporter.metrics.collector import account_families, exporter_families
from balance_exporter.metrics.snapshot import AccountState, Snapshot

Encoder = Callable[[Collector], bytes]

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

    Used by one thread at a time (the renderer's): not thread-safe, and needs not be."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.families = len(account_families(()))
        self._states: dict[str, AccountState] = {}
        self._lines: dict[str, list[bytes]] = {}  # account -> its lines, one bytes per family
        self.order: tuple[str, ...] = ()
        self.encoded = 0  # accounts encoded so far; tests and benchmarks read it

    def refresh(self, accounts: Sequence[AccountState]) -> None:
        changed = [a for a in accounts if self._states.get(a.name) is not a]
        if len(accounts) != len(self._states) or changed:
            self._forget(accounts)
        if changed:
            self._encode(changed)
        self.order = tuple(account.name for account in accounts)

    def family_lines(self, family: int) -> Iterator[bytes]:
        lines = self._lines
        return (lines[name][family] for name in self.order)

    def has_samples(self, family: int) -> bool:
        return any(self.family_lines(family))

    def _forget(self, accounts: Sequence[AccountState]) -> None:
        kept = {account.name for account in accounts}
        for name in [name for name in self._states if name not in kept]:
            del self._states[name], self._lines[name]

    def _encode(self, changed: Sequence[AccountState]) -> None:
        # One encoder call for all of them; a sample line goes to the account it is labelled
        # with (the encoder writes the lines in the order of the samples).
        batch = account_families(changed)
        blocks = _family_blocks(encode(self.encoder, batch))
        if len(blocks) != self.families:
            raise ValueError("the encoder wrote a family without a help line")
        fresh: dict[str, list[list[bytes]]] = {
            account.name: [[] for _ in range(self.families)] for account in changed
        }
        for family, (metric, (_, lines)) in enumerate(zip(batch, blocks, strict=True)):
            for sample, line in zip(metric.samples, lines, strict=True):
                fresh[sample.labels["account"]][family].append(line)
        for account in changed:
            self._states[account.name] = account
            self._lines[account.name] = [b"".join(lines) for lines in fresh[account.name]]
        self.encoded += len(changed)


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

    def body(self, snapshot: Snapshot, names: Iterable[str] | None = None) -> bytes:
        """The whole body of ``snapshot`` (its lines refreshed already), or only the families
        a ``name[]`` filter selects, as prometheus_client's restricted registry would."""
        wanted = None if names is None else set(names)
        pieces: list[bytes] = []
        for family, header in enumerate(self.headers):
            if wanted is not None and not (
                self.sample_names[family] & wanted and self.lines.has_samples(family)
            ):
                continue
            pieces.append(header)
            pieces.extend(self.lines.family_lines(family))
        exporter = CollectorRegistry(auto_describe=False)
        exporter.register(_Listed(exporter_families(snapshot.exporter)))
        pieces.append(
            self.encoder(exporter if wanted is None else exporter.restricted_registry(wanted))
        )
        return b"".join(pieces)
