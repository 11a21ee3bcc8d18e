"""Running untrusted submissions: the child process, its wire protocol and its probes."""
