"""The precarious-neighbourhood index: explainable indicators per H3 cell and per boundary unit."""
