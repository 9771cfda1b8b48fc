"""Programs that run INSIDE grading sandboxes (python3 -I -S -c SOURCE), never imported on
the host: grading.harness_source() reads them as text, with wire.py prepended. This file only
makes the folder a package, so a regular (non-editable) install ships them."""
