"""FlowSync's benchmark harness, outside the test suite: `bin/flowsync bench [--quick]`."""
