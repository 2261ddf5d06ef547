"""The Dash dashboard: shell (navbar, controls, login) and shared page pieces."""
