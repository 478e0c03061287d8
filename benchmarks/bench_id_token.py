"""placeholder"""
from .harness import Context
def run(ctx: Context) -> None:
    pass
