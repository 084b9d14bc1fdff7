"""Global&Local for inpaintzoo: "Globally and Locally Consistent Image Completion" (Iizuka et al., SIGGRAPH 2017)."""
