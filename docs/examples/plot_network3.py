"""
Chapter 6: a convolutional network without Theano
=================================================

The book's first chapter 6 network (one convolution-pooling layer of 20 5x5
filters, a 100-neuron layer, a softmax layer) through ``fastnn.network3``,
with one changed import.  The book trains 60 epochs on 50,000 images; this
page trains one epoch on the first 5,000.
"""
from fastnn import network3
from fastnn.network3 import ConvPoolLayer, FullyConnectedLayer, Network, SoftmaxLayer

training_data, validation_data, test_data = network3.load_data_shared()
training_data = (training_data[0][:5000], training_data[1][:5000])
mini_batch_size = 10
net = Network([
    ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28),
                  filter_shape=(20, 1, 5, 5), poolsize=(2, 2)),
    FullyConnectedLayer(n_in=20*12*12, n_out=100),
    SoftmaxLayer(n_in=100, n_out=10)], mini_batch_size)
history = net.SGD(training_data, 1, mini_batch_size, 0.1, validation_data, test_data)
print(sorted(history))
