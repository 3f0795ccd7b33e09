"""Never paying twice: the local index of paid results, and taking them into place."""
