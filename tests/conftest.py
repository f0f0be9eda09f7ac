"""Suite-wide test set-up."""

import os

# pytest-xdist workers start with COLUMNS=80 in the environment; Rich would freeze the CLI
# console at that width when cyclodose.cli is first imported. Dropping it here, before any
# test module imports the CLI, lets each CliRunner.invoke(env={"COLUMNS": ...}) take effect.
os.environ.pop("COLUMNS", None)

# Service fixtures (PostgreSQL server, authenticated clients) for every test folder.
pytest_plugins = ["service_fixtures"]
