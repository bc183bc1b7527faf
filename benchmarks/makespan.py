"""Makespan benchmark: `python -m benchmarks.makespan` is `yolobatch bench` (the harness lives in
`yolobatch.devtools.bench`, so an installed yolobatch can measure its own machine)."""

from yolobatch.devtools.bench import main

if __name__ == "__main__":
    main()
