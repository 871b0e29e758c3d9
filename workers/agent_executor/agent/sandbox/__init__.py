"""The tool-script sandbox: what a script from a message can and cannot do on a worker."""
