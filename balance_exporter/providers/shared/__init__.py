"""What several provider adapters read alike: strict amounts and codes, JMESPath paths."""
