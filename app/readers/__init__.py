"""Several readers in the GUI: the adjudication queue, the agreement view and the blinded
reading switch (issue #15). One widget per file; the statistics live in core.agreement."""
