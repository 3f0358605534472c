"""The fault campaign's parts: real processes to break, students who keep a history of
what they were told, and the check of those histories against the database.

``bench/faults.py`` runs the campaign; the test suite runs a short one
(``tests/test_faults.py``) and starts its own processes with :mod:`campaign.processes`.
"""
