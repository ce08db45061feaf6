from django.urls import path

from . import files, views

app_name = "projects"

urlpatterns = [
    path("", views.town_list, name="towns"),
    path("towns/<int:pk>/", views.town_detail, name="town-detail"),
    path("communities/<int:pk>/", views.community_detail, name="community-detail"),
    path("compounds/<int:pk>/", views.compound_detail, name="compound-detail"),
    path("renewal/", views.renewal_list, name="renewal-list"),
    path("renewal/<int:pk>/", views.renewal_detail, name="renewal-detail"),
    path("renewal/photos/<int:pk>/", files.renewal_photo, name="renewal-photo"),
    path("renewal/photos/<int:pk>/thumb/", files.renewal_photo, {"thumb": True}, name="renewal-photo-thumb"),
    path("funds/", views.fund_list, name="fund-list"),
    path("funds/<int:pk>/", views.fund_detail, name="fund-detail"),
    path("import/", views.import_view, name="import"),
    path("export/<str:kind>.xlsx", views.export_view, name="export"),
]
