"""Reader agreement (issue #15): statistics over readers' grades and boxes, the model
measured against the readers, and consensus boxes. numpy / scikit-learn / krippendorff
only (no Qt, no torch)."""
