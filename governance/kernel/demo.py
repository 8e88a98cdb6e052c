"""What a seed_demo step says while it runs (each app's demo.seed gets the command as ``ctx``)."""


def demo_say(ctx, text: str) -> None:
    """One line on the command's output, unless it runs with --verbosity 0 or without one."""
    out = getattr(ctx, "stdout", None)
    if out is not None and getattr(ctx, "verbosity", 1):
        out.write(text)
