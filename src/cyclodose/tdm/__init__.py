"""Bayesian estimation engine, one module per stage (mapbayr-style): preprocess (arrays) →
objective → optimise (MAP, restarts) → posterior (Laplace, SIR) → forecast → diagnostics →
sampling. It takes arrays, covariates and model specs; the consult that reads a Case, screens
it and ranks regimens is `cyclodose.workflows.tdm`."""
