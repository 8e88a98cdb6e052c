"""The hooks grids fires for the apps above it (governance.kernel.hooks); importable
before the models are ready, so that an app can name them in its AppConfig."""

# A resident is about to be removed from a household: (resident), in the removal's
# transaction, before the delete. A registered function may refuse by raising an
# ApplicationError (the volunteers app refuses for a volunteer without an account).
RESIDENT_REMOVING = "grids.resident_removing"
