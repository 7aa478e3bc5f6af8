DJANGO_SETTINGS_MODULE=shop.settings
ALLOWED_HOSTS="shop.example.com localhost"
