"""``python -m supplyline``: the same as the ``supplyline`` command."""

from supplyline.cli import main

if __name__ == "__main__":
    main()
