from django.urls import path

from apps.outbox import views

app_name = "outbox"
urlpatterns = [
    path("", views.dead_letters, name="dead_letters"),
    path("<int:item_id>/retry/", views.retry, name="retry"),
]
