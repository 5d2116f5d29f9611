"""The buyer storefront: server-rendered catalog, cart, checkout, payment and order pages."""
