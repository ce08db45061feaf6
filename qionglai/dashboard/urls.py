from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.page, name="page"),
    path("data/", views.data, name="data"),
    path("boundaries/", views.boundaries, name="boundaries"),
    path("grid/<int:pk>/", views.grid_card, name="grid-card"),
    path("export/<str:table>.<str:fmt>", views.export, name="export"),
]
