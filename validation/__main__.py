"""`python -m validation docs/validation.md` (`make validate`)."""

import time

STARTED = time.perf_counter()  # before the imports below: they are part of the run time

from validation.run import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(started=STARTED))
