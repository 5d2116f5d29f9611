"""Storefront pages, by concern. Each view validates input, calls one service or selector, and
renders. (The order pages, which show documents, are invoicing's: invoicing/storefront/.)"""
