"""Connected social accounts: connecting, tokens kept fresh, syncing numbers back."""
