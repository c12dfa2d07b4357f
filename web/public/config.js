// Replaced when the production container starts (see docker-entrypoint.sh). The dev server
// serves this empty default, so the page falls back to its VITE_* variables.
