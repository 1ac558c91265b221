"""What is wrong with this install, said before it costs anything: `preflight` stops
`aftercare run` at the first problem with one line (cause: fix), before the models load;
`doctor` lists every finding and sends nothing to any customer."""
