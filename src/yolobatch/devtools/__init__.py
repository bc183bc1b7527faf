"""Developer tools, fenced off from the product: the emulated platform (`sandbox`), the demo batches
(`demo`) and the makespan benchmark (`bench`).

They may import anything of yolobatch; nothing of the core imports them (tests/test_layout.py), and the
CLI only inside the commands that need them, so an installation runs without this folder.
"""
