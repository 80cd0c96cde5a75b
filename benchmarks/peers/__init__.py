"""Hand-written peers run by the benchmark scripts on the library's own target."""
