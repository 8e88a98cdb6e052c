"""The hooks appeals fires for the apps above it (governance.kernel.hooks); importable
before the models are ready, so that an app can name them in its AppConfig."""

# An evaluation closed an appeal a volunteer claimed: (appeal, rating), in the
# evaluation's transaction (the volunteers app awards the points).
CLAIMED_APPEAL_CLOSED = "appeals.claimed_appeal_closed"
