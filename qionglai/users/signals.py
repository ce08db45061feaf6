"""Domain signals of the users app. Higher apps listen (points opens the accounts a grant
implies); users never imports them."""

from django.dispatch import Signal

# sent inside grant_give's transaction: kwargs grant (the new Grant), actor
grant_given = Signal()
