"""The evidence a hospital reviews, kept out of the product: `python -m validation
docs/validation.md` (`make validate`) writes the validation report.

1. `study`: simulation–estimation study of the Bayesian TDM estimator.
2. `averaging`: model averaging against the right and the wrong model.
3. `reference`: the MAP estimate against independent implementations (Nelder–Mead).
4. `engine`: the PK engine's checks (typical values, the monograph, ODE integration).
5. `scenarios`: clinical scenarios run through `cyclodose.assess`.

`run` cuts the sections into tasks and runs them in one pool of worker processes;
`report` writes the markdown. Everything is seeded; the same command writes the same
numbers whatever the number of workers. The product never imports this package
(an import-linter contract).
"""
