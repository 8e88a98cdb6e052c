from rest_framework.routers import SimpleRouter

from grids.apis import RESOURCES

router = SimpleRouter()
for prefix, viewset in RESOURCES.items():
    router.register(prefix, viewset, basename=f"api-{prefix}")

urlpatterns = router.urls
