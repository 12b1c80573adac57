# The Makefile of projectapi's runtime exported in TVM's standalone layout: one static library
# per component directory under src/runtime/crt, C sources as C99, C++ sources as C++17.
#
#   make [CRT_CONFIG_DIR=crt_config] [BUILD_DIR=build] [CC=gcc] [CXX=g++] [CFLAGS=...]
#
# builds $(BUILD_DIR)/lib<component>.a for every component.
CRT_CONFIG_DIR ?= crt_config
BUILD_DIR ?= build
CFLAGS ?= -O2 -Wall
CXXFLAGS ?= -O2 -Wall -fno-exceptions -fno-rtti
COMPONENT_BASE := src/runtime/crt
COMPONENTS := $(notdir $(patsubst %/,%,$(sort $(dir $(wildcard $(COMPONENT_BASE)/*/*.c $(COMPONENT_BASE)/*/*.cc)))))
INCLUDES := -Iinclude -I$(CRT_CONFIG_DIR)

all: $(foreach component,$(COMPONENTS),$(BUILD_DIR)/lib$(component).a)

$(BUILD_DIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu99 $(CFLAGS) $(INCLUDES) -c $< -o $@

$(BUILD_DIR)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 $(CXXFLAGS) $(INCLUDES) -c $< -o $@

define component_library
$(BUILD_DIR)/lib$(1).a: $(patsubst %,$(BUILD_DIR)/%.o,$(basename $(wildcard $(COMPONENT_BASE)/$(1)/*.c $(COMPONENT_BASE)/$(1)/*.cc)))
	$$(AR) rcs $$@ $$^
endef
$(foreach component,$(COMPONENTS),$(eval $(call component_library,$(component))))

clean:
	rm -rf $(BUILD_DIR)

.PHONY: all clean
