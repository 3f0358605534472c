"""What the tutor says and how each student turn is graded."""
