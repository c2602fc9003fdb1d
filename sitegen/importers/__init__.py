"""Importers of other systems' exports into sitegen content (`sitegen import ...`).

wordpress: a WordPress export (WXR) read in two streaming passes (`wxr`), each post's body
converted to Markdown with sitegen shortcodes (`wpbody`), written as page bundles with a
record of what was written so a second run can tell edited files (`wordpress`).
"""
