"""``python -m gateway.simulators.smsc``: the same as ``gateway simulate smsc``."""

from gateway.simulators.smsc._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
