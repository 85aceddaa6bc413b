// LatheDedupe: see ../shared/DESIGN.md. Code arrives with its issue.
