"""The evolution loop: parent selection, diagnosis, self-modification, evaluation, the daemon."""
