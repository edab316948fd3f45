print("sluice-bench: benchmarks arrive with the records layer")
