"""Coverage-guided fuzz harnesses (atheris) for what visitors upload: images and videos."""
