"""`inpaintzoo demo`: a local web page to try models (Gradio, the convention of Hugging Face model pages):
draw a mask on your picture and inpaint it; with a causal model, move a concept with a slider. Needs
`pip install "inpaintzoo[demo]"`."""
