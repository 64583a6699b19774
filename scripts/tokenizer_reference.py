#!/usr/bin/env python3
"""Independent reference for the tokenizer tests: GPT-2's pattern through the
`regex` module (Debian: python3-regex) and a naive BPE over OpenAI's rank
files, printing the expected values test_tokenizer_bpe.c and
test_tokenizer_damage.c hold: the non-speech sets (real multilingual, gpt2,
and the damaged vocabulary of for-tests-ggml-base.bin with the byte tokens
taken from their GPT-2 positions) and the ids of a few sentences.
Run from the repository root: python3 scripts/tokenizer_reference.py
"""
import base64, regex, struct
PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
def load_tk(p):
    r={}
    for line in open(p):
        if line.strip():
            t,k=line.split(); r[base64.b64decode(t)]=int(k)
    return r
def bpe(ranks, piece, fallback=None):
    if piece in ranks: return [ranks[piece]]
    parts=[bytes([b]) for b in piece]
    while True:
        best=None
        for i in range(len(parts)-1):
            r=ranks.get(parts[i]+parts[i+1])
            if r is not None and (best is None or r<best[0]): best=(r,i)
        if best is None: break
        i=best[1]; parts[i:i+2]=[parts[i]+parts[i+1]]
    out=[]
    for p in parts:
        if p in ranks: out.append(ranks[p])
        else: out.append(fallback[p[0]])
    return out
def encode(ranks,s,fallback=None):
    return [t for piece in PAT.findall(s) for t in bpe(ranks,piece.encode(),fallback)]
def non_speech(ranks,fallback=None):
    symbols = list('"#()*+/:;<=>@[\\]^_`{|}~「」『』')
    symbols += "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪".split()
    misc=set("♩♪♫♬♭♮♯")
    res={encode(ranks," -",fallback)[0], encode(ranks," '",fallback)[0]}
    for sym in symbols+list(misc):
        for toks in [encode(ranks,sym,fallback), encode(ranks," "+sym,fallback)]:
            if len(toks)==1 or sym in misc: res.add(toks[0])
    return sorted(res)
ml=load_tk('tests/data/multilingual.tiktoken')
g2=load_tk('tests/data/gpt2.tiktoken')
a=non_speech(ml); print(len(a), a)
b=non_speech(g2); print(len(b), b)
d=open('tests/data/for-tests-ggml-base.bin','rb').read()
o=48; nm,nf=struct.unpack('<2i',d[o:o+8]); o+=8+4*nm*nf
nv,=struct.unpack('<i',d[o:o+4]); o+=4
dam={}
for i in range(nv):
    l,=struct.unpack('<I',d[o:o+4]); o+=4; t=d[o:o+l]; o+=l
    if t and t not in dam: dam[t]=i
bs=list(range(33,127))+list(range(161,173))+list(range(174,256)); bs+=[x for x in range(256) if x not in bs]
fb={b:i for i,b in enumerate(bs)}
c=non_speech(dam,fb); print(len(c), sorted(set(c)-set(a)), sorted(set(a)-set(c)))
for s in ["Hello world", " Ask not what your country can do for you", " café naïve", " 日本語のテキスト", " 👍🏽 ok", "  hello  world  ", "I'll don't 12345"]:
    print(repr(s), encode(ml,s), encode(g2,s))
