"""The workload API: tensors, operators and graphs (SMAUG concepts, written our own way)."""
