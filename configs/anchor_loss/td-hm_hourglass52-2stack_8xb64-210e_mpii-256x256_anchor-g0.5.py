# Table 7 gamma sweep: the 2-stack hourglass with Anchor Loss, gamma = 0.5.
_base_ = ['./td-hm_hourglass52-2stack_8xb64-210e_mpii-256x256_anchor-g2.py']

model = dict(head=dict(loss=dict(gamma=0.5)))
