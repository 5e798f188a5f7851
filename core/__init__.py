"""The suite's core: what a verdict is, its window, thresholds and durations. Pure: it imports
nothing of the suite and touches no file, process or network."""
