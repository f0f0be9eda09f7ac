"""The clinic: renal function and patient facts, vocabulary, screening rules, guideline
dosing, the regimen policy (candidates, capsules, ranking, what blocks a regimen), monitoring
and breastfeeding. Rules are data in `cyclodose.knowledge`; this layer applies them."""
