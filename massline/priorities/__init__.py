"""Citizens' policy priorities, their supports, comments, follows and moderation."""
